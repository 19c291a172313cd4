from guard.cli.main import main

main()
