import json

import pytest

from gapbench.cli import main
from gapbench.mazeset import DATA_FILE, META_FILE, load_set


def test_generate_show_and_load_through_the_cli(tmp_path, capsys):
    out = tmp_path / "set"
    assert (
        main(
            [
                "mazes",
                "generate",
                "--size",
                "6",
                "--density",
                "0.3",
                "--count",
                "20",
                "--seed",
                "0",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    loaded = load_set(out)
    assert len(loaded) == 20 and loaded.seed == 0
    assert main(["mazes", "show", str(out), "--index", "2"]) == 0
    shown = capsys.readouterr().out
    item = loaded.items[2]
    assert item.id in shown and item.views[0].render().splitlines()[1] in shown
    # A Hugging Face dataset: loadable with datasets.
    import datasets

    ds = datasets.load_dataset("parquet", data_files=str(out / DATA_FILE), split="train")
    assert ds.num_rows == 20 and set(ds.column_names) >= {"id", "maze", "view_1", "view_2", "optimal_path"}
    # Deterministic: the same command writes the same mazes; a longer set extends a shorter one.
    main(["mazes", "generate", "--count", "25", "--seed", "0", "--out", str(tmp_path / "again")])
    assert [it.id for it in load_set(tmp_path / "again").items][:20] == [it.id for it in loaded.items]


def test_loading_refuses_tampered_sets(tmp_path, capsys):
    import pyarrow.parquet as pq

    out = tmp_path / "set"
    main(["mazes", "generate", "--count", "3", "--out", str(out)])
    table = pq.read_table(out / DATA_FILE).to_pylist()
    table[1]["view_1"] = (
        table[1]["view_1"].replace("#", ".", 1) if "#" in table[1]["view_1"] else "@ ? ?\n? . .\n. . *"
    )
    import pyarrow as pa

    pq.write_table(pa.Table.from_pylist(table), out / DATA_FILE)
    with pytest.raises(ValueError, match="maze 1"):
        load_set(out)
    assert main(["mazes", "show", str(out)]) == 2
    assert "maze 1" in capsys.readouterr().err


def test_show_errors_are_clear(tmp_path, capsys):
    assert main(["mazes", "show", str(tmp_path / "missing")]) == 2
    assert "gapbench mazes generate" in capsys.readouterr().err
    main(["mazes", "generate", "--count", "2", "--out", str(tmp_path / "s")])
    assert main(["mazes", "show", str(tmp_path / "s"), "--index", "5"]) == 2
    assert "out of range" in capsys.readouterr().err
    assert json.loads((tmp_path / "s" / META_FILE).read_text())["count"] == 2
