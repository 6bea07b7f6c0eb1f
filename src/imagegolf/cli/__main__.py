from imagegolf.cli.main import entry

entry()
