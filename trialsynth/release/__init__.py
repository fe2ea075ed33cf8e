"""What a release is: its identity (what decides the file) and its sign-off."""
