"""Objects nested in a task's execution details: jobs, their instance, image and logs."""
