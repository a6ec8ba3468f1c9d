"""Pure semdag: the graph model, rules, comparisons, checks, selection, render plans, reports.

Nothing here reads or writes files, imports Hamilton, or knows about the command line.
"""
