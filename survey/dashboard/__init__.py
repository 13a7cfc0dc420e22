"""The clinic dashboards: scores per clinician and construct, trends, the invitation funnel and
the patient-clinician comparison, for signed-in staff."""
