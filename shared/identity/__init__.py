"""Identities: API keys now; Clerk JWTs and guest trials with the identity issue."""
