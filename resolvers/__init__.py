"""What each field and mutation does: plain async functions holding the business rules."""
