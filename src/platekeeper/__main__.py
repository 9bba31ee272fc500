from platekeeper.cli import main

main()
