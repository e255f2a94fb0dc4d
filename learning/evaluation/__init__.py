"""The appraisal year of branches (月报告、季督查、年考评): the monthly report for now."""
