"""Exports of submitted responses: wide and long CSV, codebook, SPSS, Stata, FHIR and REDCap.

Every table export streams: responses are read in chunks (:mod:`survey.dataset`) and written as
they come, so memory does not grow with the number of responses (SPSS and Stata files are the
exception, see :mod:`survey.exports.labelled`).
"""
