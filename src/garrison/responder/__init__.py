"""The Responder: policies that react to triggers (thresholds, Web service calls, NMS
traps, IPS quarantine escalations, operators) with a graph of dependent actions.

``policy`` and ``addresses`` hold the pure rules, ``graph`` orders a policy's actions,
``threshold`` correlates the event stream, ``engine`` opens and closes responses and runs
their actions, ``actions/`` holds one module per action type.
"""
