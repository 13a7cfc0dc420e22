"""The respondent flow: welcome, one page per construct, review, submit, thank you."""
