"""HL7 FHIR R4: the forms as Questionnaires, responses as QuestionnaireResponses, and an
endpoint through which a patient portal sends a QuestionnaireResponse for an invitation."""
