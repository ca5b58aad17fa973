"""The policy benchmark: replay a workspace's drops under riskwatch's policy and fixed schedules."""
