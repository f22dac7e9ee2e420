"""我的授权 (issue 10, item 6): what portals and channels hold for the signed-in citizen, and
revoking it."""
