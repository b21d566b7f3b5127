from mlplat.cli import entry

entry()
