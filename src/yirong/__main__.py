from yirong.cli import main

main()
