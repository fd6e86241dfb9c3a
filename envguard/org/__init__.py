"""Organisation inputs: many repositories checked as one (inventory artifacts, repository identity)."""
