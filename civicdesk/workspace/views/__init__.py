"""Views of the agent workspace: parse, call one service or selector, render."""
