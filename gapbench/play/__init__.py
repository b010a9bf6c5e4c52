"""`gapbench play`: a person plays the maze game with a model in the browser, recorded and graded
like any dialogue (lab.py: participants, games and records; server.py: the web app; static/: the page)."""
