"""Organisation: the center, its teams, people, level ladder and seats."""
