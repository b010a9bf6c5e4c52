"""`gapbench play`: a person plays the maze game with a model in the browser, recorded and graded
like any dialogue (lab.py: participants, games and records; server.py: the web app; static/: the page).

Only the seat label lives here, so that readers of records (the report) need none of the web code.
"""

HUMAN = "human:"  # a person's seat in a record's models: human:<random participant id>


def is_human(model: str) -> bool:
    return model.startswith(HUMAN)
