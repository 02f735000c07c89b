"""The LLM investigator: any OpenAI-compatible model, a tool loop over the skills, structured reports."""
