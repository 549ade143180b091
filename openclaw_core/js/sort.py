"""V8's ``Array.prototype.sort`` / ``toSorted`` (TimSort), step for step.

For a comparator that is a consistent total preorder every stable sort gives
the same order, and Python's ``sorted`` is used. The reference's listing
comparator is not one when an ``updatedAt`` is not a number: the difference is
NaN, which the sort reads as "equal" to everything, and the order that comes
out is whatever V8's algorithm makes of it. To list such rows in the
reference's order this module runs the same algorithm: runs found by
``CountAndMakeRun``, extended by binary insertion to the minimum run length,
merged with the TimSort stack invariants and galloping (``minGallop``
starting at 7).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
Compare = Callable[[Any, Any], float]

MIN_GALLOP = 7


def _min_run_length(n: int) -> int:
    low_bit = 0
    while n >= 64:
        low_bit |= n & 1
        n >>= 1
    return n + low_bit


def v8_sort(items: list[T], compare: Compare) -> list[T]:
    """Sort ``items`` in place as V8 does with ``compare`` (a NaN result counts as 0)."""

    def cmp(a: Any, b: Any) -> float:
        order = compare(a, b)
        return 0.0 if order != order else order

    _TimSort(items, cmp).sort()
    return items


class _TimSort:
    def __init__(self, array: list[Any], cmp: Compare) -> None:
        self.a = array
        self.cmp = cmp
        self.min_gallop = MIN_GALLOP
        self.runs: list[list[int]] = []  # [base, length]

    def sort(self) -> None:
        length = len(self.a)
        if length < 2:
            return
        low, remaining = 0, length
        min_run = _min_run_length(remaining)
        while remaining:
            run = self._count_and_make_run(low, low + remaining)
            if run < min_run:
                forced = min(min_run, remaining)
                self._binary_insertion_sort(low, low + run, low + forced)
                run = forced
            self.runs.append([low, run])
            self._merge_collapse()
            low += run
            remaining -= run
        self._merge_force_collapse()

    # -- runs ---------------------------------------------------------------------------------

    def _count_and_make_run(self, low_arg: int, high: int) -> int:
        a, cmp = self.a, self.cmp
        low = low_arg + 1
        if low == high:
            return 1
        run = 2
        descending = cmp(a[low], a[low - 1]) < 0
        previous = a[low]
        for index in range(low + 1, high):
            current = a[index]
            order = cmp(current, previous)
            if (order >= 0) if descending else (order < 0):
                break
            previous = current
            run += 1
        if descending:
            a[low_arg:low_arg + run] = a[low_arg:low_arg + run][::-1]
        return run

    def _binary_insertion_sort(self, low: int, start: int, high: int) -> None:
        a, cmp = self.a, self.cmp
        if start == low:
            start += 1
        for start in range(start, high):
            left, right = low, start
            pivot = a[start]
            while left < right:
                mid = left + ((right - left) >> 1)
                if cmp(pivot, a[mid]) < 0:
                    right = mid
                else:
                    left = mid + 1
            a[left + 1:start + 1] = a[left:start]
            a[left] = pivot

    # -- the run stack ---------------------------------------------------------------------------

    def _invariant_holds(self, n: int) -> bool:
        if n < 2:
            return True
        runs = self.runs
        return runs[n - 2][1] > runs[n - 1][1] + runs[n][1]

    def _merge_collapse(self) -> None:
        runs = self.runs
        while len(runs) > 1:
            n = len(runs) - 2
            if not self._invariant_holds(n + 1) or not self._invariant_holds(n):
                if runs[n - 1][1] < runs[n + 1][1]:
                    n -= 1
                self._merge_at(n)
            elif runs[n][1] <= runs[n + 1][1]:
                self._merge_at(n)
            else:
                break

    def _merge_force_collapse(self) -> None:
        runs = self.runs
        while len(runs) > 1:
            n = len(runs) - 2
            if n > 0 and runs[n - 1][1] < runs[n + 1][1]:
                n -= 1
            self._merge_at(n)

    def _merge_at(self, i: int) -> None:
        runs = self.runs
        base_a, length_a = runs[i]
        base_b, length_b = runs[i + 1]
        runs[i][1] = length_a + length_b
        del runs[i + 1]
        k = _gallop_right(self.a, self.cmp, self.a[base_b], base_a, length_a, 0)
        base_a += k
        length_a -= k
        if length_a == 0:
            return
        length_b = _gallop_left(self.a, self.cmp, self.a[base_a + length_a - 1], base_b, length_b, length_b - 1)
        if length_b == 0:
            return
        if length_a <= length_b:
            self._merge_low(base_a, length_a, base_b, length_b)
        else:
            self._merge_high(base_a, length_a, base_b, length_b)

    # -- merging -------------------------------------------------------------------------------

    def _merge_low(self, base_a: int, length_a: int, base_b: int, length_b: int) -> None:
        a, cmp = self.a, self.cmp
        temp = a[base_a:base_a + length_a]
        dest, cursor_temp, cursor_b = base_a, 0, base_b
        a[dest] = a[cursor_b]
        dest += 1
        cursor_b += 1
        copy_b = False
        length_b -= 1
        if length_b == 0:
            pass
        elif length_a == 1:
            copy_b = True
        else:
            min_gallop = self.min_gallop
            done = False
            while not done:
                wins_a = wins_b = 0
                while True:
                    if cmp(a[cursor_b], temp[cursor_temp]) < 0:
                        a[dest] = a[cursor_b]
                        dest += 1
                        cursor_b += 1
                        wins_b += 1
                        length_b -= 1
                        wins_a = 0
                        if length_b == 0:
                            done = True
                            break
                        if wins_b >= min_gallop:
                            break
                    else:
                        a[dest] = temp[cursor_temp]
                        dest += 1
                        cursor_temp += 1
                        wins_a += 1
                        length_a -= 1
                        wins_b = 0
                        if length_a == 1:
                            done = copy_b = True
                            break
                        if wins_a >= min_gallop:
                            break
                if done:
                    break
                min_gallop += 1
                first = True
                while wins_a >= MIN_GALLOP or wins_b >= MIN_GALLOP or first:
                    first = False
                    min_gallop = max(1, min_gallop - 1)
                    self.min_gallop = min_gallop
                    wins_a = _gallop_right(temp, cmp, a[cursor_b], cursor_temp, length_a, 0)
                    if wins_a > 0:
                        a[dest:dest + wins_a] = temp[cursor_temp:cursor_temp + wins_a]
                        dest += wins_a
                        cursor_temp += wins_a
                        length_a -= wins_a
                        if length_a == 1:
                            done = copy_b = True
                            break
                        if length_a == 0:
                            done = True
                            break
                    a[dest] = a[cursor_b]
                    dest += 1
                    cursor_b += 1
                    length_b -= 1
                    if length_b == 0:
                        done = True
                        break
                    wins_b = _gallop_left(a, cmp, temp[cursor_temp], cursor_b, length_b, 0)
                    if wins_b > 0:
                        a[dest:dest + wins_b] = a[cursor_b:cursor_b + wins_b]
                        dest += wins_b
                        cursor_b += wins_b
                        length_b -= wins_b
                        if length_b == 0:
                            done = True
                            break
                    a[dest] = temp[cursor_temp]
                    dest += 1
                    cursor_temp += 1
                    length_a -= 1
                    if length_a == 1:
                        done = copy_b = True
                        break
                if done:
                    break
                min_gallop += 1
                self.min_gallop = min_gallop
        if copy_b:
            # The last element of run A belongs at the end of the merge.
            a[dest:dest + length_b] = a[cursor_b:cursor_b + length_b]
            a[dest + length_b] = temp[cursor_temp]
        elif length_a > 0:
            a[dest:dest + length_a] = temp[cursor_temp:cursor_temp + length_a]

    def _merge_high(self, base_a: int, length_a: int, base_b: int, length_b: int) -> None:
        a, cmp = self.a, self.cmp
        temp = a[base_b:base_b + length_b]
        dest = base_b + length_b - 1
        cursor_temp = length_b - 1
        cursor_a = base_a + length_a - 1
        a[dest] = a[cursor_a]
        dest -= 1
        cursor_a -= 1
        copy_a = False
        length_a -= 1
        if length_a == 0:
            pass
        elif length_b == 1:
            copy_a = True
        else:
            min_gallop = self.min_gallop
            done = False
            while not done:
                wins_a = wins_b = 0
                while True:
                    if cmp(temp[cursor_temp], a[cursor_a]) < 0:
                        a[dest] = a[cursor_a]
                        dest -= 1
                        cursor_a -= 1
                        wins_a += 1
                        length_a -= 1
                        wins_b = 0
                        if length_a == 0:
                            done = True
                            break
                        if wins_a >= min_gallop:
                            break
                    else:
                        a[dest] = temp[cursor_temp]
                        dest -= 1
                        cursor_temp -= 1
                        wins_b += 1
                        length_b -= 1
                        wins_a = 0
                        if length_b == 1:
                            done = copy_a = True
                            break
                        if wins_b >= min_gallop:
                            break
                if done:
                    break
                min_gallop += 1
                first = True
                while wins_a >= MIN_GALLOP or wins_b >= MIN_GALLOP or first:
                    first = False
                    min_gallop = max(1, min_gallop - 1)
                    self.min_gallop = min_gallop
                    k = _gallop_right(a, cmp, temp[cursor_temp], base_a, length_a, length_a - 1)
                    wins_a = length_a - k
                    if wins_a > 0:
                        dest -= wins_a
                        cursor_a -= wins_a
                        a[dest + 1:dest + 1 + wins_a] = a[cursor_a + 1:cursor_a + 1 + wins_a]
                        length_a -= wins_a
                        if length_a == 0:
                            done = True
                            break
                    a[dest] = temp[cursor_temp]
                    dest -= 1
                    cursor_temp -= 1
                    length_b -= 1
                    if length_b == 1:
                        done = copy_a = True
                        break
                    k = _gallop_left(temp, cmp, a[cursor_a], 0, length_b, length_b - 1)
                    wins_b = length_b - k
                    if wins_b > 0:
                        dest -= wins_b
                        cursor_temp -= wins_b
                        a[dest + 1:dest + 1 + wins_b] = temp[cursor_temp + 1:cursor_temp + 1 + wins_b]
                        length_b -= wins_b
                        if length_b == 1:
                            done = copy_a = True
                            break
                        if length_b == 0:
                            done = True
                            break
                    a[dest] = a[cursor_a]
                    dest -= 1
                    cursor_a -= 1
                    length_a -= 1
                    if length_a == 0:
                        done = True
                        break
                if done:
                    break
                min_gallop += 1
                self.min_gallop = min_gallop
        if copy_a:
            # The first element of run B belongs at the front of the merge.
            dest -= length_a
            cursor_a -= length_a
            a[dest + 1:dest + 1 + length_a] = a[cursor_a + 1:cursor_a + 1 + length_a]
            a[dest] = temp[cursor_temp]
        elif length_b > 0:
            a[dest - (length_b - 1):dest + 1] = temp[0:length_b]


def _gallop_left(array: list[Any], cmp: Compare, key: Any, base: int, length: int, hint: int) -> int:
    """Where ``key`` goes in the sorted ``array[base:base+length]``, before equal elements."""
    last, offset = 0, 1
    if cmp(array[base + hint], key) < 0:
        max_offset = length - hint
        while offset < max_offset:
            if cmp(array[base + hint + offset], key) >= 0:
                break
            last = offset
            offset = (offset << 1) + 1
        offset = min(offset, max_offset)
        last, offset = last + hint, offset + hint
    else:
        max_offset = hint + 1
        while offset < max_offset:
            if cmp(array[base + hint - offset], key) < 0:
                break
            last = offset
            offset = (offset << 1) + 1
        offset = min(offset, max_offset)
        last, offset = hint - offset, hint - last
    last += 1
    while last < offset:
        mid = last + ((offset - last) >> 1)
        if cmp(array[base + mid], key) < 0:
            last = mid + 1
        else:
            offset = mid
    return offset


def _gallop_right(array: list[Any], cmp: Compare, key: Any, base: int, length: int, hint: int) -> int:
    """Where ``key`` goes in the sorted ``array[base:base+length]``, after equal elements."""
    last, offset = 0, 1
    if cmp(key, array[base + hint]) < 0:
        max_offset = hint + 1
        while offset < max_offset:
            if cmp(key, array[base + hint - offset]) >= 0:
                break
            last = offset
            offset = (offset << 1) + 1
        offset = min(offset, max_offset)
        last, offset = hint - offset, hint - last
    else:
        max_offset = length - hint
        while offset < max_offset:
            if cmp(key, array[base + hint + offset]) < 0:
                break
            last = offset
            offset = (offset << 1) + 1
        offset = min(offset, max_offset)
        last, offset = last + hint, offset + hint
    last += 1
    while last < offset:
        mid = last + ((offset - last) >> 1)
        if cmp(key, array[base + mid]) < 0:
            offset = mid
        else:
            last = mid + 1
    return offset


# ICU's root collation (String.prototype.localeCompare without a locale) puts
# punctuation before digits and digits before letters, '_' before '-'.
_ASCII_COLLATION = {"_": 0, "-": 1, ".": 2}


def ascii_locale_key(text: str) -> tuple[tuple[int, int], ...]:
    """Sort key that orders normalised ids (``[a-z0-9_-]``) as ``a.localeCompare(b)`` does."""
    key = []
    for ch in text:
        if ch in _ASCII_COLLATION:
            key.append((0, _ASCII_COLLATION[ch]))
        elif ch.isdigit() and ch.isascii():
            key.append((1, ord(ch)))
        elif ch.isascii() and ch.isalpha():
            key.append((2, ord(ch.lower()) * 2 + (1 if ch.isupper() else 0)))
        else:
            key.append((3, ord(ch)))
    return tuple(key)


def insertion_select(items: Sequence[T], compare: Callable[[T, T], float], limit: int) -> list[T]:
    """The reference's top-N selection (it takes up to 200 rows this way, before
    sorting larger selections): each item goes before the first kept one it
    compares below, ties keep their order, the kept list is cut at ``limit``."""
    selected: list[T] = []
    for item in items:
        at = next((i for i, kept in enumerate(selected) if compare(item, kept) < 0), -1)
        if at >= 0:
            selected.insert(at, item)
            if len(selected) > limit:
                selected.pop()
        elif len(selected) < limit:
            selected.append(item)
    return selected
