"""The soak: the optimized service in its production shape, for minutes or hours, under an
open-loop load and scheduled faults, with every answer and every acknowledged write checked.

    stack   a durable Redis and the service, restarted whenever it exits (the process manager)
    client  the load: keep-alive connections, errors counted by kind, PUT outcomes kept
    faults  what is injected, when, and each fault's window
    series  one row a second: answers, latency, RSS, fds, threads, GC
    run     one soak, start to end
    verdict the checks applied to what a run recorded
    checks  the verdicts, from the records alone
    report  summary.json, series.csv, the plot and REPORT.md
"""
