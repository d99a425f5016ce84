from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect

from accounts.models import Membership


@login_required
def home(request):
    """Send the user to the account they used last, or their first one."""
    memberships = Membership.objects.select_related("account").filter(user=request.user)
    slug = request.session.get("account_slug")
    membership = memberships.filter(account__slug=slug).first() if slug else None
    membership = membership or memberships.order_by("account__name").first()
    if membership is None:
        return HttpResponse("You are not a member of any account yet.", status=200)
    return HttpResponse(f"Signed in; account {membership.account.slug}")
