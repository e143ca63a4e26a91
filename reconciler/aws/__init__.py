"""The AWS edge: aiobotocore clients, call counting, rate limits, retries, error classification."""
