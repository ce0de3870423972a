"""Small helpers every layer may use: URL serialisation, durations, text.

Owns nothing of the pipeline; imports only the standard library, third-party
packages and `newsmirror.models`.
"""
