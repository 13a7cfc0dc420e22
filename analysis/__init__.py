"""Psychometric analysis of item responses: pure functions in, frozen results out."""
