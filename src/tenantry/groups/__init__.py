"""Groups: teams inside an org, whose roles their members inherit."""
