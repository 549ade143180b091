"""The environment: where things live (:mod:`.paths`), the config file read,
checked and written (:mod:`.model`, :mod:`.schema`, :mod:`.fields`,
:mod:`.edit`, :mod:`.toml_edit`, :mod:`.dotpath`), model refs
(:mod:`.models`) and store targets (:mod:`.targets`)."""
