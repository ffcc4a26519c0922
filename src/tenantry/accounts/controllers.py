"""Sign-up, sign-in, sign-out, the profile page and the sessions page."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie, ResponseHeader
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.accounts import services
from tenantry.accounts.models import TokenPurpose, User, UserSession
from tenantry.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, Passwords
from tenantry.accounts.schemas import (
    ChangePasswordForm,
    ForgotPasswordForm,
    NewPasswordForm,
    ProfileForm,
    SignInForm,
    SignUpForm,
)
from tenantry.accounts.sessions import SESSION_COOKIE, NewSession, list_sessions
from tenantry.accounts.tokens import BadToken, TokenProblem, find_token
from tenantry.audit.services import Actor
from tenantry.config import Settings
from tenantry.lib.forms import InvalidInput, form_values, parse_form, submit_form
from tenantry.lib.ratelimit import RateLimiter
from tenantry.support.models import EndCause
from tenantry.support.services import end_impersonation
from tenantry.support.web import DURING_IMPERSONATION, impersonation_of
from tenantry.web.guards import REACHABLE_WITHOUT_ORG
from tenantry.web.responses import safe_next, see_other

PUBLIC = {"public": True}
PASSWORD_HINT = f"At least {MIN_PASSWORD_LENGTH} characters (up to {MAX_PASSWORD_LENGTH}). A passphrase works well."


def session_cookie(new_session: NewSession, settings: Settings) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=new_session.token,
        path="/",
        httponly=True,
        secure=settings.serves_https,
        samesite="lax",
        max_age=settings.session_absolute_hours * 3600,
    )


def cleared_session_cookie(settings: Settings) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        path="/",
        httponly=True,
        secure=settings.serves_https,
        samesite="lax",
        max_age=0,
    )


class AuthController(Controller):
    tags = ["accounts"]

    @get("/signup", opt=PUBLIC, name="signup")
    async def signup_page(self, request: Request) -> Template | Redirect:
        if request.scope.get("user"):
            return see_other("/")
        return Template("accounts/signup.html", context={"values": {}, "errors": {}, "hint": PASSWORD_HINT})

    @post("/signup", opt=PUBLIC)
    async def signup(
        self,
        request: Request,
        db_session: AsyncSession,
        limiter: RateLimiter,
        passwords: Passwords,
        settings: Settings,
        actor: Actor,
    ) -> Template | Redirect:
        submitted = await submit_form(
            request,
            SignUpForm,
            lambda data: services.sign_up(
                db_session,
                limiter=limiter,
                passwords=passwords,
                settings=settings,
                name=data.name,
                email=data.email,
                password=data.password,
                actor=actor,
            ),
        )
        if submitted.ok:
            signed_in = submitted.result
            flash(request, f"Welcome to Tenantry, {signed_in.user.name}!", category="success")
            return see_other("/", cookies=[session_cookie(signed_in.session, settings)])
        return Template(
            "accounts/signup.html",
            context={"values": submitted.values("name", "email"), "errors": submitted.errors, "hint": PASSWORD_HINT},
            status_code=422,
        )

    @get("/login", opt=PUBLIC, name="login")
    async def login_page(
        self, request: Request, next: str | None = None, expired: str | None = None, email: str | None = None
    ) -> Template | Redirect:
        if request.scope.get("user"):
            return see_other(safe_next(next))
        # A join link sends invitees here with their address filled in.
        values = {"email": email[:320]} if email else {}
        return Template(
            "accounts/login.html",
            context={"values": values, "errors": {}, "next": safe_next(next), "expired": bool(expired)},
        )

    @post("/login", opt=PUBLIC)
    async def login(
        self,
        request: Request,
        db_session: AsyncSession,
        limiter: RateLimiter,
        passwords: Passwords,
        settings: Settings,
        actor: Actor,
    ) -> Template | Redirect:
        form = await request.form()
        next_url = safe_next(form.get("next") if isinstance(form.get("next"), str) else None)
        data, errors = parse_form(SignInForm, form)
        status = 422
        if data:
            current: UserSession | None = request.scope.get("auth")
            try:
                signed_in = await services.sign_in(
                    db_session,
                    limiter=limiter,
                    passwords=passwords,
                    settings=settings,
                    email=data.email,
                    password=data.password,
                    replaced_session_id=current.id if current else None,
                    actor=actor,
                )
            except services.InvalidCredentials as exc:
                errors = {"__all__": str(exc)}
                # 200, not 4xx: the failed attempt's audit event must be committed.
                status = 200
            else:
                return see_other(next_url, cookies=[session_cookie(signed_in.session, settings)])
        return Template(
            "accounts/login.html",
            context={
                "values": form_values(form, "email"),
                "errors": errors,
                "next": next_url,
                "expired": False,
            },
            status_code=status,
        )

    @post("/logout", opt={REACHABLE_WITHOUT_ORG: True, DURING_IMPERSONATION: True})
    async def logout(
        self,
        request: Request,
        db_session: AsyncSession,
        user: User,
        user_session: UserSession,
        settings: Settings,
        actor: Actor,
    ) -> Redirect:
        live = impersonation_of(request)
        if live is not None:  # the staff member signs out: their impersonation ends first, on record
            user, actor = live.staff, live.as_staff(actor)
            await end_impersonation(db_session, impersonation_id=live.row.id, actor=actor, cause=EndCause.ENDED)
        await services.sign_out(db_session, session_id=user_session.id, user=user, actor=actor)
        flash(request, "You have signed out.", category="info")
        # "Sign out and continue" (switching account on a join link) goes back to where it was.
        back = (await request.form()).get("next")
        return see_other(
            safe_next(back if isinstance(back, str) else None, default="/login"),
            cookies=[cleared_session_cookie(settings)],
        )


TOKEN_PAGE = {"public": True}
# A link with a secret in it must not leak through the Referer of whatever the page links to.
NO_REFERRER = [ResponseHeader(name="Referrer-Policy", value="no-referrer")]
TOKEN_PAGES = {
    TokenPurpose.RESET_PASSWORD: {
        "title": "Choose a new password",
        "button": "Save new password",
        "path": "reset-password",
    },
    TokenPurpose.SET_PASSWORD: {"title": "Choose your password", "button": "Save and sign in", "path": "set-password"},
}
TOKEN_PROBLEMS = {
    TokenProblem.UNKNOWN: "This link isn't valid. Check that you copied all of it from the email.",
    TokenProblem.EXPIRED: "This link has expired.",
    TokenProblem.USED: "This link has already been used.",
}


class AccountMailController(Controller):
    """Links that arrive by email: confirm an address, reset or set a password."""

    tags = ["accounts"]

    @get("/forgot-password", opt=PUBLIC, name="forgot_password")
    async def forgot_page(self) -> Template:
        return Template("accounts/forgot.html", context={"values": {}, "errors": {}, "sent_to": None})

    @post("/forgot-password", opt=PUBLIC)
    async def forgot(
        self, request: Request, db_session: AsyncSession, limiter: RateLimiter, settings: Settings, actor: Actor
    ) -> Template:
        form = await request.form()
        data, errors = parse_form(ForgotPasswordForm, form)
        if not data:
            return Template(
                "accounts/forgot.html",
                context={"values": form_values(form, "email"), "errors": errors, "sent_to": None},
                status_code=422,
            )
        await services.request_password_reset(
            db_session, limiter=limiter, settings=settings, email=data.email, actor=actor
        )
        # The same answer whether or not there is such an account.
        return Template("accounts/forgot.html", context={"values": {}, "errors": {}, "sent_to": data.email})

    @get("/reset-password/{token:str}", opt=PUBLIC, response_headers=NO_REFERRER, name="reset_password")
    async def reset_page(self, db_session: AsyncSession, token: str) -> Template:
        return await _token_page(db_session, token, TokenPurpose.RESET_PASSWORD)

    @post("/reset-password/{token:str}", opt=PUBLIC, response_headers=NO_REFERRER)
    async def reset(
        self,
        request: Request,
        db_session: AsyncSession,
        passwords: Passwords,
        settings: Settings,
        actor: Actor,
        token: str,
    ) -> Template | Redirect:
        return await _set_password(request, db_session, passwords, settings, actor, token, TokenPurpose.RESET_PASSWORD)

    @get("/set-password/{token:str}", opt=PUBLIC, response_headers=NO_REFERRER, name="set_password")
    async def set_page(self, db_session: AsyncSession, token: str) -> Template:
        return await _token_page(db_session, token, TokenPurpose.SET_PASSWORD)

    @post("/set-password/{token:str}", opt=PUBLIC, response_headers=NO_REFERRER)
    async def set_first(
        self,
        request: Request,
        db_session: AsyncSession,
        passwords: Passwords,
        settings: Settings,
        actor: Actor,
        token: str,
    ) -> Template | Redirect:
        return await _set_password(request, db_session, passwords, settings, actor, token, TokenPurpose.SET_PASSWORD)

    @get("/verify-email/{token:str}", opt=PUBLIC, response_headers=NO_REFERRER, name="verify_email")
    async def verify(self, request: Request, db_session: AsyncSession, actor: Actor, token: str) -> Template | Redirect:
        try:
            await services.verify_email(db_session, token=token, actor=actor)
        except BadToken as exc:
            return Template(
                "accounts/link_problem.html",
                context={"problem": TOKEN_PROBLEMS[exc.problem], "purpose": "verify"},
                status_code=400,
            )
        flash(request, "Your email address is confirmed. Thank you!", category="success")
        return see_other("/" if request.scope.get("user") else "/login")


async def _token_page(
    db: AsyncSession, token: str, purpose: TokenPurpose, errors: dict | None = None, status: int = 200
) -> Template:
    try:
        found = await find_token(db, token, purpose=purpose)
    except BadToken as exc:
        return Template(
            "accounts/link_problem.html",
            context={"problem": TOKEN_PROBLEMS[exc.problem], "purpose": "password"},
            status_code=400,
        )
    return Template(
        "accounts/set_password.html",
        context={
            "page": TOKEN_PAGES[purpose],
            "token": token,
            "email": found.user.email,
            "errors": errors or {},
            "hint": PASSWORD_HINT,
        },
        status_code=status,
    )


async def _set_password(
    request: Request,
    db: AsyncSession,
    passwords: Passwords,
    settings: Settings,
    actor: Actor,
    token: str,
    purpose: TokenPurpose,
) -> Template | Redirect:
    form = await request.form()
    data, errors = parse_form(NewPasswordForm, form)
    if data:
        try:
            signed_in = await services.set_password_with_token(
                db,
                passwords=passwords,
                settings=settings,
                token=token,
                purpose=purpose,
                new_password=data.password,
                actor=actor,
            )
        except BadToken as exc:
            return Template(
                "accounts/link_problem.html",
                context={"problem": TOKEN_PROBLEMS[exc.problem], "purpose": "password"},
                status_code=400,
            )
        except InvalidInput as exc:
            errors = exc.errors
        else:
            flash(
                request,
                "Your password is saved. Every other session has been signed out."
                if purpose == TokenPurpose.RESET_PASSWORD
                else f"Welcome, {signed_in.user.name}!",
                category="success",
            )
            return see_other("/", cookies=[session_cookie(signed_in.session, settings)])
    return await _token_page(db, token, purpose, errors=errors, status=422)


class AccountController(Controller):
    path = "/account"
    tags = ["accounts"]
    opt = {REACHABLE_WITHOUT_ORG: True}  # a user in no org still manages their account

    @get("/", name="account")
    async def profile_page(self, user: User) -> Template:
        return Template("accounts/profile.html", context=_profile_context(user))

    @post("/profile")
    async def update_profile(
        self, request: Request, db_session: AsyncSession, user: User, actor: Actor
    ) -> Template | Redirect:
        submitted = await submit_form(
            request,
            ProfileForm,
            lambda data: services.update_profile(db_session, user_id=user.id, name=data.name, actor=actor),
        )
        if submitted.ok:
            flash(request, "Your name has been saved.", category="success")
            return see_other("/account")
        return Template(
            "accounts/profile.html",
            context=_profile_context(user, profile_values=submitted.values("name"), profile_errors=submitted.errors),
            status_code=422,
        )

    @post("/password")
    async def change_password(
        self,
        request: Request,
        db_session: AsyncSession,
        user: User,
        passwords: Passwords,
        settings: Settings,
        actor: Actor,
    ) -> Template | Redirect:
        submitted = await submit_form(
            request,
            ChangePasswordForm,
            lambda data: services.change_password(
                db_session,
                passwords=passwords,
                settings=settings,
                user_id=user.id,
                current_password=data.current_password,
                new_password=data.new_password,
                actor=actor,
            ),
        )
        if submitted.ok:
            flash(
                request, "Your password has been changed. Your other sessions have been signed out.", category="success"
            )
            return see_other("/account", cookies=[session_cookie(submitted.result, settings)])
        return Template(
            "accounts/profile.html", context=_profile_context(user, password_errors=submitted.errors), status_code=422
        )

    @post("/verification")
    async def resend_verification(
        self,
        request: Request,
        db_session: AsyncSession,
        user: User,
        limiter: RateLimiter,
        settings: Settings,
        actor: Actor,
    ) -> Redirect:
        sent = await services.resend_verification(
            db_session, limiter=limiter, settings=settings, user_id=user.id, actor=actor
        )
        flash(
            request,
            f"We sent a new link to {user.email}. It works for 48 hours."
            if sent
            else "Your email address is already confirmed.",
            category="success",
        )
        back = (await request.form()).get("next")
        return see_other(safe_next(back if isinstance(back, str) else None))

    @get("/sessions", name="sessions")
    async def sessions_page(
        self, db_session: AsyncSession, user: User, user_session: UserSession, settings: Settings
    ) -> Template:
        rows = await list_sessions(db_session, settings=settings, user_id=user.id)
        return Template("accounts/sessions.html", context={"sessions": rows, "current_id": user_session.id})

    @post("/sessions/{session_id:uuid}/revoke")
    async def revoke_session(
        self,
        request: Request,
        db_session: AsyncSession,
        user: User,
        user_session: UserSession,
        session_id: UUID,
        actor: Actor,
    ) -> Redirect:
        if session_id == user_session.id:
            flash(request, "To end this session, use Sign out.", category="info")
        elif await services.revoke_session(db_session, user_id=user.id, session_id=session_id, actor=actor):
            flash(request, "That session has been signed out.", category="success")
        else:
            flash(request, "That session had already ended.", category="info")
        return see_other("/account/sessions")

    @post("/sessions/revoke-others")
    async def revoke_other_sessions(
        self,
        request: Request,
        db_session: AsyncSession,
        user: User,
        user_session: UserSession,
        settings: Settings,
        actor: Actor,
    ) -> Redirect:
        ended = await services.revoke_other_sessions(
            db_session, settings=settings, user_id=user.id, current_session_id=user_session.id, actor=actor
        )
        message = (
            f"Signed out of {ended} other session{'s' if ended != 1 else ''}."
            if ended
            else "There were no other sessions to sign out."
        )
        flash(request, message, category="success")
        return see_other("/account/sessions")


def _profile_context(
    user: User,
    *,
    profile_values: dict | None = None,
    profile_errors: dict | None = None,
    password_errors: dict | None = None,
) -> dict:
    return {
        "profile_values": profile_values or {"name": user.name},
        "profile_errors": profile_errors or {},
        "password_errors": password_errors or {},
        "hint": PASSWORD_HINT,
    }
