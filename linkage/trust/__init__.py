"""Who may do what, and what no one may read: principals, tokens, the policy, the payload codec
and its keys, sealing at rest, and the one Temporal connection with its data converter.
"""
