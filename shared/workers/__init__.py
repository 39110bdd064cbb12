"""What every worker shares: claiming, running with a heartbeat, draining and handing back
(the dev pool, the Fargate task and the light-lane Lambda; ARCHITECTURE.md, "Messages")."""
