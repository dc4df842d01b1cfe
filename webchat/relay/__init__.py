"""One reply's trip from Ollama to the browser: the reply thread, the running replies,
the pump that relays every stream, the frames written straight to the socket, the outbox
each browser's writes wait in (never the relay), what the socket needs from TCP, the
request body sent to Ollama, how a reply's ending is told (outcome), the one seam where a
reply takes the speed paths (speed), and why a reply is slow to start (starts: the `wait`
frames).

Never imports models, api, ws, guard, serve or services: what a reply needs is handed
to it."""
