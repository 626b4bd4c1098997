"""Security checks (issue 7): constant-time secrets, roles on every action, data never live
in chat, names never paths, secrets never logged."""
