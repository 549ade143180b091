"""The engine: stores and their single writer (:mod:`.store`), maintenance,
the trash and the transport seams, and the Gateway's wire side
(:mod:`.wire`: protocol, device identity, endpoint discovery) shared by the
server and the client plugin. Everything here is given its Hooks."""
