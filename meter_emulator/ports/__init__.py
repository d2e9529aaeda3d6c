"""The emulated meter's ports: the CCC push (pure builders and a scheduler, then thin pty/TCP
adapters) and, later, the optical port servers."""
