"""The contest's web front end: leaderboard, timeline, submissions, rules, admin, JSON API, registry hook.

``create_app(db, contest_name, admin_token=…, hook_token=…)`` builds the FastAPI app;
``server.serve_in_thread`` / ``server.serve_forever`` run it with uvicorn (docs/web.md).
"""

from imagegolf.web.app import create_app

__all__ = ["create_app"]
