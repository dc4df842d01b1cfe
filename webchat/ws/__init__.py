"""The `/ws` WebSocket: the route and the connection, the frames that start or stop a
reply, a frame's fields checked, and the other commands.

Never imports api, store or serve: the store is reached through the services."""
