"""The use cases below the faces: investigate a symptom and deliver its report, prepare, grant and
run an approved action, read a session's timeline. Each takes what it needs from the app core; the
CLI, MCP and later the server and chat buttons call these instead of restating them."""
