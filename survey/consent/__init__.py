"""Information and consent before the first question, and withdrawal after submission."""
