"""One reply's trip from Ollama to the browser: the reply thread, the running replies,
the pump that relays every stream, the frames written straight to the socket, what the
socket needs from TCP, the request body sent to Ollama, and why a reply is slow to start
(the `wait` frames).

Never imports models, api, ws, guard or serve."""
