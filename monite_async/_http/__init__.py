"""The network side: which transport sends and how its failures look (`transports`), what
to retry and how long to wait (`retry`), Monite's rate limit (`rate`), what an answer
says (`answers`). Plain helpers: the flow (`_flow.call`) asks them; none of them sends."""
