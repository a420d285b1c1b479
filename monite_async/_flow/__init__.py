"""The one flow of a call (`call`), its steps (`steps`), the two drivers that carry them out
(`drive`), the request it builds and parses (`request`) and the options it runs with
(`options`)."""
