"""Run-folder CSVs read back: exact text, a torn last line dropped, a damaged file refused in one
line naming the file (and the line where a row is wrong)."""

import pytest

from nas.commands.cli import main
from nas.reporting.run_folder import append_csv_row, read_csv_records, write_csv
from nas.reporting.trials import SearchFolder
from search_space.errors import ConfigError


def test_records_come_back_as_written_and_a_torn_line_is_dropped(tmp_path):
    path = tmp_path / "rows.csv"
    write_csv(path, ["number", "status", "reward", "error"], [])
    append_csv_row(path, ["number", "status", "reward", "error"], {"number": 1, "status": "ok", "reward": repr(0.1 + 0.2), "error": 'a, "quoted" text'})
    append_csv_row(path, ["number", "status", "reward", "error"], {"number": 2, "status": "failed", "reward": "", "error": ""})
    with open(path, "a") as f:
        f.write("3,ok,0.5")  # a kill during the append: no newline
    records = read_csv_records(path)
    assert records == [
        {"number": "1", "status": "ok", "reward": "0.30000000000000004", "error": 'a, "quoted" text'},
        {"number": "2", "status": "failed", "reward": "", "error": ""},
    ]
    assert read_csv_records(tmp_path / "absent.csv") == []


@pytest.mark.parametrize(
    "text, message",
    [
        ('number,status\n1,ok\n2,"ok\n', r"trials.csv: not readable as the CSV a run writes \(.*EOF inside string"),
        ("number,status\n1,ok,extra\n", r"trials.csv: not readable as the CSV a run writes \(Length of header"),
        ("number,status\n1,ok\nx,y\n", r"trials.csv: line 3: a row needs a trial number and a status, got number 'x'"),
    ],
)
def test_a_damaged_csv_is_refused_by_file_and_line(tmp_path, capsys, text, message):
    (tmp_path / "trials.csv").write_text(text)
    with pytest.raises(ConfigError, match=message):
        SearchFolder(tmp_path).read_rows()
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "trials.csv" in err
