-- Who is delivering an operator approval.
SELECT session_user::text AS session_user
