from arayis_cli.cli.app import main

main()
