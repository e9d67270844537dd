"""The entry point: registry integrity, help, and clear errors on unknown names."""

from __future__ import annotations

import pytest

from pisces import cli


def test_help_lists_every_registered_command(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for group, verbs in cli.COMMANDS.items():
        for verb in verbs:
            assert f"{group} {verb}".strip() in out


def test_unknown_command_is_named(capsys):
    assert cli.main(["nosuchbenchmark"]) == 2
    assert "nosuchbenchmark" in capsys.readouterr().err


def test_unknown_verb_is_named(capsys):
    assert cli.main(["jumping", "fly"]) == 2
    err = capsys.readouterr().err
    assert "fly" in err and "train" in err


def test_missing_verb_is_an_error(capsys):
    assert cli.main(["lqr"]) == 2


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("pisces ")


@pytest.mark.parametrize("entry", [t for v in cli.COMMANDS.values() for t, _ in v.values()])
def test_registry_entries_are_module_colon_function(entry):
    module, sep, attr = entry.partition(":")
    assert sep == ":" and module.startswith("pisces.") and attr.isidentifier()


@pytest.mark.parametrize(
    ("group", "verb"), [(g, v) for g, verbs in cli.COMMANDS.items() for v in verbs]
)
def test_every_registered_verb_builds_its_parser(group, verb):
    import argparse

    parser = argparse.ArgumentParser()
    cli._load(cli.COMMANDS[group][verb][0])(parser)
    assert callable(parser.get_default("func"))
    parser.format_help()  # every option's help renders


def test_verb_help_exits_cleanly(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["jumping", "train", "--help"])
    assert exc.value.code == 0
    assert "--preset" in capsys.readouterr().out
