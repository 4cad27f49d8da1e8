"""The two-way assessment (双考核): indicators computed in the records database, scoring,
evidence, and the periodic reports.
"""
