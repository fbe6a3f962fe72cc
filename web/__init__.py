"""督办 web workspace: server-rendered pages (Jinja2) and a JSON API under /api/v1, on FastAPI.

Every page and API call goes through ``service.problems.ProblemService`` and ``workflow.permissions``;
nothing here decides who may do what on a problem.
"""
