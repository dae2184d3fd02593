"""Lowest floor: settings, errors, typed results, text, dates, what a question asks. Imports nothing of rag."""
